"""``survey.permissions.can`` over a small tree, every role × membership × action × target.

The tree: national → two provinces → one city each.  The expectations are written out here
by hand (which organisations each one's subtree holds, which actions each role has), not
derived from the module's own tables."""

from __future__ import annotations

import itertools

import pytest
from flask_login import AnonymousUserMixin

from survey.models import Membership, Organisation, User
from survey.permissions import ACTIONS, ROLE_ACTIONS, can, visible


def tree() -> dict[str, Organisation]:
    national = Organisation(id=1, code="CN", name_zh="全国", name_en="National")
    sichuan = Organisation(id=2, code="SC", name_zh="四川", name_en="Sichuan", parent=national)
    hubei = Organisation(id=3, code="HB", name_zh="湖北", name_en="Hubei", parent=national)
    chengdu = Organisation(id=4, code="CD", name_zh="成都", name_en="Chengdu", parent=sichuan)
    wuhan = Organisation(id=5, code="WH", name_zh="武汉", name_en="Wuhan", parent=hubei)
    return {"CN": national, "SC": sichuan, "HB": hubei, "CD": chengdu, "WH": wuhan}


# a membership here reads these organisations' data
SUBTREE = {
    "CN": {"CN", "SC", "HB", "CD", "WH"},
    "SC": {"SC", "CD"},
    "HB": {"HB", "WH"},
    "CD": {"CD"},
    "WH": {"WH"},
}

# the issue's table: admin users and roles; organiser questionnaires, waves, quotas, exports;
# analyst read and export; viewer aggregate monitoring only; everyone monitors
EXPECTED_ROLE_ACTIONS = {
    "admin": {"monitor", "manage_users", "view_accounts"},
    "organiser": {"monitor", "read_responses", "export", "manage_questionnaires",
                  "manage_waves", "manage_quotas"},
    "analyst": {"monitor", "read_responses", "export"},
    "viewer": {"monitor"},
}
READING = {"monitor", "read_responses", "export", "view_accounts"}


def user_with(*memberships, active=True) -> User:
    return User(email="someone@example.org", password_hash="x", active=active,
                memberships=[Membership(organisation=org, role=role)
                             for org, role in memberships])


def test_the_role_table_is_the_issues_table():
    assert {role: set(actions) for role, actions in ROLE_ACTIONS.items()} == \
        EXPECTED_ROLE_ACTIONS
    assert set(ACTIONS) == set().union(*EXPECTED_ROLE_ACTIONS.values())


@pytest.mark.parametrize("role", sorted(EXPECTED_ROLE_ACTIONS))
def test_every_role_member_of_every_organisation_against_every_target(role):
    orgs = tree()
    for member_of, action, target in itertools.product(orgs, ACTIONS, orgs):
        user = user_with((orgs[member_of], role))
        in_scope = target == member_of or (action in READING and target in SUBTREE[member_of])
        expected = action in EXPECTED_ROLE_ACTIONS[role] and in_scope
        assert can(user, action, orgs[target]) is expected, (role, member_of, action, target)


def test_siblings_and_parents_see_nothing_of_each_other():
    orgs = tree()
    for role in EXPECTED_ROLE_ACTIONS:
        for member_of, target in [("SC", "HB"), ("HB", "SC"), ("CD", "WH"), ("WH", "CD"),
                                  ("CD", "HB"), ("SC", "WH"), ("CD", "SC"), ("SC", "CN")]:
            user = user_with((orgs[member_of], role))
            assert not any(can(user, action, orgs[target]) for action in ACTIONS), \
                (role, member_of, target)


def test_a_parent_reads_but_does_not_manage_its_children():
    orgs = tree()
    organiser = user_with((orgs["CN"], "organiser"))
    assert can(organiser, "export", orgs["CD"])
    assert not can(organiser, "manage_waves", orgs["CD"])
    admin = user_with((orgs["SC"], "admin"))
    assert can(admin, "manage_users", orgs["SC"]) and not can(admin, "manage_users", orgs["CD"])
    assert can(admin, "view_accounts", orgs["CD"]) and not can(admin, "view_accounts", orgs["HB"])


def test_memberships_add_up():
    orgs = tree()
    user = user_with((orgs["SC"], "analyst"), (orgs["WH"], "organiser"))
    assert can(user, "export", orgs["CD"]) and can(user, "manage_waves", orgs["WH"])
    assert not can(user, "manage_waves", orgs["SC"]) and not can(user, "monitor", orgs["HB"])
    assert [o.code for o in visible(user, "monitor", orgs.values())] == ["SC", "CD", "WH"]


def test_inactive_anonymous_and_unattached_users_can_do_nothing():
    orgs = tree()
    inactive = user_with((orgs["CN"], "organiser"), active=False)
    for user in (inactive, AnonymousUserMixin(), None, user_with()):
        assert not any(can(user, action, org) for action in ACTIONS for org in orgs.values())


def test_an_unknown_action_is_a_programming_error():
    orgs = tree()
    with pytest.raises(ValueError, match="unknown action 'delete_everything'"):
        can(user_with((orgs["CN"], "admin")), "delete_everything", orgs["CN"])
