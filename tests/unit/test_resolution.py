"""Usernames to user ids at the fewest calls: one SearchUsers per username, or ListUsers pages of
1,000 for the whole instance, whichever costs fewer; exact match first, then a unique
case-insensitive one."""

from __future__ import annotations

from connect_profiles.domain.resolution import Directory, Resolved, resolve_usernames
from connect_profiles.ports import LIST_USERS_PAGE
from tests.fakes import LIST_USERS, SEARCH_USERS, FakeConnect


def instance(users: int, *extra: str) -> FakeConnect:
    fake = FakeConnect()
    for n in range(users):
        fake.add_user(f"u-{n}", f"agent{n}")
    for username in extra:
        fake.add_user(f"id-{username}", username)
    return fake


def test_search_users_is_used_when_it_costs_fewer_calls_than_listing_the_instance() -> None:
    # Given 4,500 users (a listing is 5 pages) and 4 usernames to find
    fake = instance(4_500)
    names = ["agent1", "agent20", "agent300", "agent4000"]
    # When they are resolved
    directory = resolve_usernames(fake, names, len(fake.users))
    # Then each was searched once and nothing was listed
    assert directory.usernames == {name: Resolved(f"u-{name[5:]}") for name in names}
    assert directory.names == {f"u-{name[5:]}": name for name in names}
    assert not directory.listed
    assert fake.calls[SEARCH_USERS] == 4
    assert fake.calls[LIST_USERS] == 0
    assert sorted(fake.searched) == sorted(names)


def test_list_users_is_used_when_it_costs_fewer_calls_than_searching_each_username() -> None:
    # Given 4,500 users (5 pages) and 6 usernames
    fake = instance(4_500)
    names = [f"agent{n}" for n in (0, 999, 1000, 2500, 4001, 4499)]
    directory = resolve_usernames(fake, names, len(fake.users))
    # Then the instance was listed page by page, and no username searched
    assert directory.usernames == {name: Resolved(f"u-{name[5:]}") for name in names}
    # And every user of the instance is known by name
    assert directory.listed
    assert len(directory.names) == 4_500
    assert directory.names["u-4499"] == "agent4499"
    assert fake.calls[LIST_USERS] == -(-4_500 // LIST_USERS_PAGE)
    assert fake.calls[SEARCH_USERS] == 0


def test_an_instance_counted_as_empty_still_costs_one_listing_call() -> None:
    # Given an instance whose approximate count says 0: a listing is still one call
    fake = instance(0, "jdoe")
    # Then one username is searched (1 call), not listed
    assert resolve_usernames(fake, ["jdoe"], 0).usernames == {"jdoe": Resolved("id-jdoe")}
    assert (fake.calls[SEARCH_USERS], fake.calls[LIST_USERS]) == (1, 0)
    # And two usernames cost one listing rather than two searches
    fake = instance(0, "jdoe", "asmith")
    assert resolve_usernames(fake, ["jdoe", "asmith"], 0).usernames == {
        "jdoe": Resolved("id-jdoe"),
        "asmith": Resolved("id-asmith"),
    }
    assert (fake.calls[SEARCH_USERS], fake.calls[LIST_USERS]) == (0, 1)


def test_no_usernames_cost_no_call() -> None:
    fake = instance(3)
    assert resolve_usernames(fake, [], 3) == Directory({}, {}, False)
    assert sum(fake.calls.values()) == 0


def test_an_exact_match_wins_over_case_variants() -> None:
    fake = instance(0, "jdoe", "JDoe", "JDOE")
    for usernames in (["jdoe"], ["jdoe", "JDOE", "x", "y"]):  # searched, then listed
        resolved = resolve_usernames(fake, usernames, 3).usernames
        assert resolved["jdoe"] == Resolved("id-jdoe")
    assert resolved["JDOE"] == Resolved("id-JDOE")


def test_a_unique_case_insensitive_match_is_used_and_the_note_says_so() -> None:
    # Given only 'Mary.Major' in an instance where a listing costs 5 calls
    fake = instance(4_500, "Mary.Major")
    # When 'mary.major' is resolved: SearchUsers finds no exact match
    resolved = resolve_usernames(fake, ["mary.major", "agent7"], len(fake.users)).usernames
    # Then the misses are matched ignoring case over one listing of the instance
    assert resolved == {
        "mary.major": Resolved("id-Mary.Major", "username matched 'Mary.Major' ignoring case"),
        "agent7": Resolved("u-7"),
    }
    assert fake.calls[SEARCH_USERS] == 2
    assert fake.calls[LIST_USERS] == 5


def test_a_search_that_ignores_case_is_not_taken_for_an_exact_match() -> None:
    # Given a SearchUsers that answers case variants too (Connect does not document which it does)
    fake = FakeConnect(search_ignores_case=True)
    fake.add_user("id-1", "JDoe")
    fake.add_user("id-2", "jdoe.smith")
    resolved = resolve_usernames(fake, ["jdoe"], 2).usernames
    # Then the case-insensitive match is still reported as such
    assert resolved == {"jdoe": Resolved("id-1", "username matched 'JDoe' ignoring case")}
    assert fake.calls[LIST_USERS] == 1


def test_several_case_insensitive_matches_are_ambiguous() -> None:
    fake = instance(0, "PAT", "Pat", "pAt")
    [(username, resolved)] = resolve_usernames(fake, ["pat"], 3).usernames.items()
    assert username == "pat"
    assert resolved.user_id is None
    assert resolved.note == (
        "username 'pat' matches 3 users ignoring case ('PAT', 'Pat', 'pAt'); "
        "use the exact username or the user_id"
    )


def test_an_unknown_username_says_usernames_are_case_sensitive() -> None:
    fake = instance(2)
    assert resolve_usernames(fake, ["ghost"], 2).usernames == {
        "ghost": Resolved(
            None, "no user with username 'ghost' in this instance (usernames are case-sensitive)"
        )
    }


def test_all_search_misses_share_one_listing() -> None:
    # Given 3,500 users (4 pages) and three usernames that need the case-insensitive fallback
    fake = instance(3_500, "Ann", "Bob", "Cy")
    resolved = resolve_usernames(fake, ["ann", "bob", "cy"], len(fake.users)).usernames
    assert [r.user_id for r in resolved.values()] == ["id-Ann", "id-Bob", "id-Cy"]
    assert fake.calls[SEARCH_USERS] == 3
    assert fake.calls[LIST_USERS] == 4  # one listing of 4 pages, not one per miss


def test_a_file_naming_users_by_id_lists_the_instance_so_ids_get_usernames() -> None:
    # Given 2,500 users (3 pages) and a file that names users by id only
    fake = instance(2_500)
    # When the (empty) usernames are resolved with name_ids
    directory = resolve_usernames(fake, [], len(fake.users), name_ids=True)
    # Then the instance was listed once, page by page, and nothing searched
    assert (fake.calls[LIST_USERS], fake.calls[SEARCH_USERS]) == (3, 0)
    assert directory.listed
    assert directory.usernames == {}
    # And every id has its username, so an id not there does not exist
    assert directory.names["u-0"] == "agent0"
    assert directory.names["u-2499"] == "agent2499"
    assert "ghost-id" not in directory.names


def test_name_ids_lists_instead_of_searching_even_for_one_username() -> None:
    # Given 4,500 users: one username alone would be one SearchUsers call
    fake = instance(4_500)
    # When the file also names users by id
    directory = resolve_usernames(fake, ["agent7"], len(fake.users), name_ids=True)
    # Then the one listing serves both, and SearchUsers is not called
    assert directory.usernames == {"agent7": Resolved("u-7")}
    assert (fake.calls[LIST_USERS], fake.calls[SEARCH_USERS]) == (5, 0)
    assert directory.listed
    assert directory.names["u-7"] == "agent7"
