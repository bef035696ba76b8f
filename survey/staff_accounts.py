"""What the console does with accounts, behind its thin routes (``survey.console``): the
members of an organisation and of its descendants, a new account or role, a changed or
removed role, an account deactivated or reactivated; and a user's own API tokens.

Permissions (survey/permissions.py): ``view_accounts`` (admins; reaches the descendants) to
see members and their account events, ``manage_users`` (admins; the own organisation only)
to change anything.  Deactivating an account is a change to every organisation it belongs
to, so it needs ``manage_users`` in each.  No change may leave a root organisation without an
active admin (``AccountRefused("last_root_admin")``): its last admin cannot demote, remove or
deactivate themselves into a lock-out.

Every change is in the audit trail, in the same transaction (``audit.record_account``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import current_user
from sqlalchemy import func, select

from . import accounts, audit
from .db import db
from .models import ROLES, ApiToken, Membership, Organisation, User
from .permissions import MANAGE_USERS, VIEW_ACCOUNTS, can


class AccountRefused(Exception):
    """A change the rules do not allow; ``reason`` picks the message (console.py)."""

    def __init__(self, reason: str, field: str | None = None, **details) -> None:
        super().__init__(reason)
        self.reason, self.field, self.details = reason, field, details


@dataclass
class Row:
    """One membership as the members page shows it, with what the signed-in admin may do."""

    membership: Membership
    may_manage: bool  # change or remove this role
    may_switch: bool  # deactivate or reactivate the account


def descendants(org: Organisation) -> list[Organisation]:
    """``org`` and every organisation below it, parents before children."""
    children: dict[int | None, list[Organisation]] = {}
    for row in db.session.execute(select(Organisation).order_by(Organisation.code)).scalars():
        children.setdefault(row.parent_id, []).append(row)
    found, stack = [], [org]
    while stack:
        node = stack.pop(0)
        if node in found:
            continue
        found.append(node)
        stack[:0] = children.get(node.id, [])
    return found


def members(org: Organisation) -> list[Row]:
    """The memberships of ``org`` and its descendants (organisation, then e-mail order)."""
    orgs = descendants(org)
    order = {o.id: n for n, o in enumerate(orgs)}
    found = db.session.execute(
        select(Membership).join(User).where(Membership.organisation_id.in_(order))
        .order_by(User.email)).scalars().all()
    found.sort(key=lambda m: order[m.organisation_id])
    return [Row(m, can(current_user, MANAGE_USERS, m.organisation), may_switch(m.user))
            for m in found]


def may_view(org: Organisation) -> bool:
    return can(current_user, VIEW_ACCOUNTS, org)


def may_manage(org: Organisation) -> bool:
    return can(current_user, MANAGE_USERS, org)


def may_switch(user: User) -> bool:
    """Whether the signed-in admin may deactivate or reactivate ``user``: an admin of every
    organisation the account belongs to, and not their own account."""
    return (user.id != current_user.id and bool(user.memberships)
            and all(can(current_user, MANAGE_USERS, m.organisation) for m in user.memberships))


def membership(org: Organisation, user_id: int) -> Membership:
    """``user_id``'s role in ``org``; 404 when there is none."""
    found = db.session.get(Membership, (user_id, org.id))
    if found is None:
        abort(404)
    return found


def _active_admins(org: Organisation) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).join(User).where(
            Membership.organisation_id == org.id, Membership.role == "admin",
            User.active.is_(True)))


def _keeps_root_admins(user: User, losing: list[Organisation]) -> None:
    """Refuse when ``user`` losing admin rights in ``losing`` leaves a root organisation
    without an active admin."""
    for org in losing:
        if org.parent_id is None and _active_admins(org) <= 1:
            raise AccountRefused("last_root_admin", org=org.code)


def _checked_role(role: str) -> str:
    if role not in ROLES:
        raise AccountRefused("unknown_role", "role")
    return role


def add_member(org: Organisation, email: str, role: str,
               password: str) -> tuple[User, str | None]:
    """Give ``email`` ``role`` in ``org``: a new account (with ``password``, or a new random
    one, returned to be shown once) or a role for an existing one (its password stays)."""
    email = accounts.normalise_email(email)[:accounts.EMAIL_MAX_LENGTH + 1]
    if not email:
        raise AccountRefused("no_email", "email")
    if not accounts.valid_email(email):
        raise AccountRefused("bad_email", "email")
    role = _checked_role(role)
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is not None:
        if db.session.get(Membership, (user.id, org.id)) is not None:
            raise AccountRefused("already_member", "email")
        if password:
            raise AccountRefused("existing_account", "password")
        user.memberships.append(Membership(organisation=org, role=role))
        audit.record_account("grant_role", user, by=current_user, organisation_ids=[org.id],
                             detail=f"{user.email}: {role}")
        db.session.commit()
        return user, None
    shown = None
    if password:
        if len(password) > accounts.PASSWORD_MAX_LENGTH:
            raise AccountRefused("long_password", "password",
                                 length=accounts.PASSWORD_MAX_LENGTH)
        if accounts.password_problem(password):
            raise AccountRefused("short_password", "password",
                                 length=accounts.PASSWORD_MIN_LENGTH)
    else:
        password = shown = accounts.new_password()
    user = User(email=email, password_hash=accounts.hash_password(password))
    user.memberships.append(Membership(organisation=org, role=role))
    db.session.add(user)
    db.session.flush()
    audit.record_account("create_user", user, by=current_user, organisation_ids=[org.id],
                         detail=f"{user.email}: {role}")
    db.session.commit()
    return user, shown


def change_role(found: Membership, role: str) -> None:
    role = _checked_role(role)
    if role == found.role:
        return
    if found.role == "admin" and found.user.active:
        _keeps_root_admins(found.user, [found.organisation])
    old, found.role = found.role, role
    audit.record_account("change_role", found.user, by=current_user,
                         organisation_ids=[found.organisation_id],
                         detail=f"{found.user.email}: {old} → {role}")
    db.session.commit()


def remove_member(found: Membership) -> None:
    if found.role == "admin" and found.user.active:
        _keeps_root_admins(found.user, [found.organisation])
    user, org_id, role = found.user, found.organisation_id, found.role
    user.memberships.remove(found)
    audit.record_account("remove_role", user, by=current_user, organisation_ids=[org_id],
                         detail=f"{user.email}: {role}")
    db.session.commit()


def set_active(user: User, active: bool) -> None:
    """Deactivate (every session ends: a new ``session_key``; its API tokens stop working)
    or reactivate ``user``."""
    if not may_switch(user):
        raise AccountRefused("own_account" if user.id == current_user.id else "elsewhere")
    if active == user.active:
        return
    if not active:
        _keeps_root_admins(user, [m.organisation for m in user.memberships if m.role == "admin"])
        user.session_key = accounts.new_session_key()
    user.active = active
    audit.record_account("reactivate_user" if active else "deactivate_user", user,
                         by=current_user, detail=user.email)
    db.session.commit()


# --------------------------------------------------------------------------- own API tokens


def my_tokens() -> list[ApiToken]:
    return list(db.session.execute(
        select(ApiToken).where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).scalars())


def create_my_token() -> str:
    """A new token for the signed-in user (the caller shows it once)."""
    return accounts.create_api_token(current_user, by=current_user)


def revoke_my_token(token_id: int) -> None:
    """Revoke one of the signed-in user's own tokens; 404 for anybody else's."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    accounts.revoke_api_token(token, by=current_user)

