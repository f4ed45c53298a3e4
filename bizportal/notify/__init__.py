"""Mails to companies, queued in the transaction of the event they announce and sent by the worker."""
