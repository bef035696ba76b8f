"""Who may do what, in which organisation: ``can(user, action, organisation)``.

Two rules, both here and nowhere else:

* **Roles → actions** (``ROLE_ACTIONS``).  A membership gives one role in one organisation:
  ``admin`` manages users and roles (and sees the accounts, their roles and their audit
  events); ``organiser`` questionnaires, waves, quotas and exports;
  ``analyst`` reads and exports; ``viewer`` sees aggregate monitoring only.  Every role
  includes monitoring ("viewer or above").
* **The tree** (national → provincial → city).  Actions that only read (``READ_ACTIONS``)
  reach from a membership's organisation down to all its descendants: a parent reads its
  children's data.  Actions that change something apply to the membership's own organisation
  only.  Nothing reaches up or sideways: siblings, cousins and parents of the organisation
  stay out of sight.

An inactive user can do nothing.  Objects need only ``memberships`` (each with
``organisation`` and ``role``) on the user and ``id``/``parent`` on organisations, so the
rules are testable without a database.
"""

from __future__ import annotations

from collections.abc import Iterable

MONITOR = "monitor"  # aggregate counts: waves, started, completed
READ_RESPONSES = "read_responses"  # answers, one response at a time
EXPORT = "export"  # the responses table and its sidecars
MANAGE_QUESTIONNAIRES = "manage_questionnaires"
MANAGE_WAVES = "manage_waves"  # open, close, dates
MANAGE_QUOTAS = "manage_quotas"
MANAGE_USERS = "manage_users"  # accounts, memberships and roles
VIEW_ACCOUNTS = "view_accounts"  # members, their roles, the account events of the audit trail

ACTIONS = (MONITOR, READ_RESPONSES, EXPORT, MANAGE_QUESTIONNAIRES, MANAGE_WAVES, MANAGE_QUOTAS,
           MANAGE_USERS, VIEW_ACCOUNTS)
READ_ACTIONS = frozenset({MONITOR, READ_RESPONSES, EXPORT, VIEW_ACCOUNTS})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({MONITOR, MANAGE_USERS, VIEW_ACCOUNTS}),
    "organiser": frozenset({MONITOR, READ_RESPONSES, EXPORT, MANAGE_QUESTIONNAIRES,
                            MANAGE_WAVES, MANAGE_QUOTAS}),
    "analyst": frozenset({MONITOR, READ_RESPONSES, EXPORT}),
    "viewer": frozenset({MONITOR}),
}


def _same(a, b) -> bool:
    return a is b or (a.id is not None and a.id == b.id)


def _reaches(member_of, action: str, organisation) -> bool:
    if _same(member_of, organisation):
        return True
    if action not in READ_ACTIONS:
        return False
    return any(_same(ancestor, member_of) for ancestor in organisation.ancestors())


def can(user, action: str, organisation) -> bool:
    """Whether ``user`` may do ``action`` in ``organisation``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return any(action in ROLE_ACTIONS[m.role] and _reaches(m.organisation, action, organisation)
               for m in user.memberships)


def visible(user, action: str, organisations: Iterable) -> list:
    """The organisations among ``organisations`` where ``user`` may do ``action``."""
    return [organisation for organisation in organisations if can(user, action, organisation)]
