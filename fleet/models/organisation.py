"""The organisation tree (city -> county/district -> township, agencies under any level)
and the users who work in it, each scoped to the subtree under their organisation."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationInfo, field_validator
from sqlmodel import Field, SQLModel

from fleet.models.common import OrgLevel, Role, enum_field, time_field, utcnow
from fleet.password_policy import password_problem

#: Which level may sit directly under which: agencies hang under any administrative level.
ALLOWED_PARENT_LEVELS: dict[OrgLevel, frozenset[OrgLevel | None]] = {
    OrgLevel.city: frozenset({None}),
    OrgLevel.county: frozenset({OrgLevel.city}),
    OrgLevel.township: frozenset({OrgLevel.county}),
    OrgLevel.agency: frozenset({OrgLevel.city, OrgLevel.county, OrgLevel.township}),
}


class OrganisationBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    code: str = Field(min_length=1, max_length=40, description="Unique administrative code.")
    level: OrgLevel = enum_field(OrgLevel)
    share_within_agency: bool = Field(
        False, description="The agency's passengers share a car only with its own passengers "
        "(no shared rides across agencies).")


class OrganisationCreate(OrganisationBase):
    parent_id: int | None = Field(None, description="Parent organisation; none for the city.")


class OrganisationUpdate(SQLModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    share_within_agency: bool | None = None


class OrganisationPublic(OrganisationBase):
    id: int
    parent_id: int | None
    path: str


class Organisation(OrganisationBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(min_length=1, max_length=40, unique=True, index=True)
    parent_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    path: str = Field(
        default="",
        max_length=400,
        index=True,
        description="Materialised path of ids, '/1/4/17/': a subtree is a path prefix.",
    )
    created_at: datetime = time_field(default_factory=utcnow)


class UserBase(SQLModel):
    username: str = Field(min_length=3, max_length=64, schema_extra={"pattern": r"^[A-Za-z0-9_.@-]+$"})
    full_name: str = Field("", max_length=120)
    role: Role = enum_field(Role)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    is_active: bool = True


class UserCreate(UserBase):
    password: str = Field(
        min_length=8,
        max_length=128,
        description="Hard to guess (zxcvbn strength 3 of 4); administrators: strength 4 and at "
        "least 12 characters. The username and full name count as known words.",
    )

    @field_validator("password")
    @classmethod
    def _hard_to_guess(cls, value: str, info: ValidationInfo) -> str:
        problem = password_problem(
            value,
            admin=info.data.get("role") == Role.admin,
            user_inputs=(info.data.get("username", ""), info.data.get("full_name", "")),
        )
        if problem:
            raise ValueError(problem)
        return value


class UserUpdate(SQLModel):
    full_name: str | None = Field(None, max_length=120)
    role: Role | None = None
    org_id: int | None = None
    is_active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=128)


class UserPublic(UserBase):
    id: int


class User(UserBase, table=True):
    #: Ids are never reused on SQLite either, so a token of a deleted user names nobody.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    token_version: int = Field(
        default=0,
        ge=0,
        description="Raised on logout, password, role or organisation change and deactivation; "
        "tokens issued under an older version are refused.",
    )
    created_at: datetime = time_field(default_factory=utcnow)
