"""Names for what handlers are given: the container and the caller, passed as they are.

Litestar would otherwise convert a dependency into its declared type on every request;
these are already that type, so conversion is both wasted work and, for the container,
impossible.
"""

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import PathParameter, SkipValidation

from api.bootstrap import Container
from application.ports import AccessClaims
from domain.ids import CANONICAL_PATTERN

ContainerDep = NamedDependency[SkipValidation[Container]]
CallerDep = NamedDependency[SkipValidation[AccessClaims]]

# The id a write names in its path: anything but the canonical form is 400 before the handler
# (a read answers 404 for it instead: it names nothing there is).
WrittenId = Annotated[str, PathParameter(pattern=CANONICAL_PATTERN)]
