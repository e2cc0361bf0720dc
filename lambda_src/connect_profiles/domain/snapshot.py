"""Everyone's proficiencies as a sync file: the daily snapshot (a durable job of its own steps) and
`connect-profiles export` write the same format, so either dropped into sync/ puts every user back.

One ListUsers call per 1,000 users, then one ListUserProficiencies per user: on a large instance
that is more than a 15-minute invocation holds, hence batches, each a checkpointed step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from connect_profiles.contract import JOB_STATE_FOLDER, SNAPSHOTS_PREFIX
from connect_profiles.domain.csv_output import input_format_csv
from connect_profiles.domain.engine import ConnectBusy, Progress, backup_rows
from connect_profiles.domain.job import JobConfig, report_folder
from connect_profiles.domain.model import Proficiency
from connect_profiles.domain.outputs import ascii_text
from connect_profiles.ports import Connect, ConnectCallError, ConnectUnreachable, Notifier, Store, UserRef

Holdings = list[tuple[UserRef, list[Proficiency]]]


def read_everyone(
    gateway: Connect, users: Sequence[UserRef], *, workers: int, progress: Progress | None = None
) -> Holdings:
    """Each user's proficiencies, reads side by side (the pacer keeps them at the quota). A user
    deleted since the listing is left out; Connect busy past the retries raises ConnectBusy.
    `progress(done, total)` is called after each user is read, from the reading threads."""
    lock = threading.Lock()
    done = 0

    def read(user: UserRef) -> list[Proficiency] | None:
        try:
            return gateway.list_proficiencies(user.id)
        except ConnectCallError as error:
            if error.not_found:
                return None
            if error.transient:
                raise ConnectBusy(str(error)) from error
            raise
        except ConnectUnreachable as error:
            raise ConnectBusy(str(error)) from error

    def one(user: UserRef) -> list[Proficiency] | None:
        nonlocal done
        held = read(user)
        if progress:
            with lock:
                done += 1
                progress(done, len(users))
        return held

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snapshot") as pool:
        held = list(pool.map(one, users))
    return [
        (user, proficiencies)
        for user, proficiencies in zip(users, held, strict=True)
        if proficiencies is not None
    ]


def snapshot_csv(holdings: Iterable[tuple[UserRef, Sequence[Proficiency]]]) -> bytes:
    """`set` rows by user id with the username beside it, users by username; a user who holds
    nothing gets the row that says so, so the file is every user's whole desired set."""
    ordered = sorted(holdings, key=lambda pair: (pair[0].username.casefold(), pair[0].id))
    rows = [(*cells, user.username) for user, held in ordered for cells in backup_rows(user.id, held)]
    return input_format_csv(rows, ("username",))


@dataclass(frozen=True, slots=True)
class SnapshotState:
    prefix: str  # the snapshot job's working folder, under reports/
    started: float
    key: str  # snapshots/<UTC date>.csv
    users: int
    batches: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SnapshotState:
        return cls(**data)


class Snapshot:
    """The steps of one snapshot, over its ports: list, one per batch of users, finish."""

    def __init__(
        self,
        *,
        config: JobConfig,
        store: Store,
        gateway: Connect,
        notifier: Notifier,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.gateway = gateway
        self.notifier = notifier
        self._clock = clock

    def plan(self, job_id: str) -> SnapshotState:
        started = datetime.fromtimestamp(self._clock(), UTC)
        prefix = f"{report_folder('_snapshots', started, job_id)}{JOB_STATE_FOLDER}"
        users = list(self.gateway.list_users())
        size = self.config.users_per_batch
        batches = [users[start : start + size] for start in range(0, len(users), size)]
        for index, batch in enumerate(batches):
            self.store.put_json(f"{prefix}users-{index}.json", [[user.id, user.username] for user in batch])
        key = f"{SNAPSHOTS_PREFIX}{started.strftime('%Y-%m-%d')}.csv"
        return SnapshotState(prefix, started.timestamp(), key, len(users), len(batches))

    def run_batch(self, state: SnapshotState, index: int) -> int:
        """Read one batch of users; the proficiencies read."""
        users = [UserRef(uid, name) for uid, name in self.store.get_json(f"{state.prefix}users-{index}.json")]
        holdings = read_everyone(self.gateway, users, workers=self.config.engine.workers)
        document = [
            [user.id, user.username, [[p.attribute, p.value, p.level] for p in held]]
            for user, held in holdings
        ]
        self.store.put_json(f"{state.prefix}batch-{index}.json", document)
        return sum(len(held) for _, held in holdings)

    def finish(self, state: SnapshotState) -> dict[str, Any]:
        holdings: Holdings = []
        for index in range(state.batches):
            for uid, name, held in self.store.get_json(f"{state.prefix}batch-{index}.json"):
                holdings.append((UserRef(uid, name), [Proficiency(a, v, int(level)) for a, v, level in held]))
        self.store.put_bytes(state.key, snapshot_csv(holdings))
        proficiencies = sum(len(held) for _, held in holdings)
        duration = self._clock() - state.started
        location = f"s3://{self.store.bucket}/{state.key}"
        subject = ascii_text(
            f"Connect profiles: snapshot {state.key}: {len(holdings)} users, {proficiencies} proficiencies"
        )
        body = "\n".join(
            [
                "Snapshot of every user's proficiencies in Amazon Connect instance "
                f"{self.config.instance_id}.",
                f"Users: {len(holdings)}. Proficiencies: {proficiencies}. Duration: {duration:.1f} s.",
                "",
                f"File: {location}",
                "It is a sync file: dropped into sync/ it puts every user back to this state (users added "
                "since are left alone); into dry-run/sync/ it shows what that would change.",
            ]
        )
        self.notifier.publish(subject[:99], body)
        return {
            "key": state.key,
            "users": len(holdings),
            "proficiencies": proficiencies,
            "duration": round(duration, 3),
        }
