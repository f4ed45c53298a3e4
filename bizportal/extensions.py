"""Flask extensions, created unbound; ``create_app`` binds them. (OIDC lives in ``auth/oidc.py``.)"""

from typing import TYPE_CHECKING, Any, cast

from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import CursorResult, MetaData, Result, Table
from sqlalchemy.orm import DeclarativeBase

from .common import textmatch  # noqa: F401 - registers its SQLite function on every connection

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (``Session.execute`` is typed as returning a plain ``Result``)."""
    return cast(CursorResult[Any], result).rowcount


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed (``__table__`` is typed as a mere ``FromClause``)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


# The typed model base: ``db.Model`` is built at run time, so type checkers see ``Base`` instead.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
