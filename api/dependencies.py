"""Names for what handlers are given: the container and the caller, passed as they are.

Litestar would otherwise convert a dependency into its declared type on every request;
these are already that type, so conversion is both wasted work and, for the container,
impossible.
"""

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from api.bootstrap import Container
from application.ports import AccessClaims

ContainerDep = NamedDependency[SkipValidation[Container]]
CallerDep = NamedDependency[SkipValidation[AccessClaims]]
