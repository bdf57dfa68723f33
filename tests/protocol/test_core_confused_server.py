"""No sequence of server answers makes the core redial faster than its backoff allows.

A confused server that answers ``failed{version: "pre2"}`` to ``1`` and ``failed{version:
"1"}`` to ``pre2`` once drove an endless zero-delay loop. An immediate, uncounted switch is
allowed only to a version not yet proposed since the last ``connected``; anything else is an
ordinary, counted and backed-off loss.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddp.backoff import Backoff
from ddp.events import TransportShouldClose

VERSIONS = ("1", "pre2", "pre1")
SCHEDULE = Backoff()


def centred() -> float:
    return 0.5


def test_a_flip_flopping_server_gets_one_quick_switch_then_the_backoff(make_harness):
    h = make_harness(random=centred)
    delays = []
    answer = {"1": "pre2", "pre2": "1"}
    for _ in range(8):
        connect = h.open()
        h.feed(msg="failed", version=answer[connect["version"]])
        assert len(h.events(TransportShouldClose)) == 1
        delays.append(h.lose("closed by server"))
    assert delays[0] == 0.0  # pre2 had not been tried: at once
    assert delays[1:] == [SCHEDULE.delay(n, centred) for n in range(7)]
    assert h.proto.attempts == 7


def test_connected_starts_a_new_cycle_of_quick_switches(make_harness):
    h = make_harness(random=centred)
    h.open()
    h.feed(msg="failed", version="pre2")
    assert h.lose() == 0.0
    h.open()
    h.feed(msg="connected", session="S1")
    h.lose()  # counted: 0.01
    h.open()
    h.feed(msg="failed", version="1")  # "1" not proposed since `connected`: at once again
    assert h.lose() == 0.0


def test_the_switch_follows_the_server_even_when_backed_off(make_harness):
    h = make_harness(random=centred)
    h.open()
    h.feed(msg="failed", version="pre2")
    h.lose()
    h.open()
    h.events()
    h.feed(msg="failed", version="1")
    assert h.events(TransportShouldClose) == [
        TransportShouldClose("server requested DDP version 1 again")
    ]
    assert h.lose() == SCHEDULE.delay(0, centred)
    assert h.open()["version"] == "1"


# -- the property ------------------------------------------------------------------------

answers = st.one_of(
    st.sampled_from(VERSIONS).map(lambda v: ("failed", v)),
    st.just(("drop", None)),  # the server closes without a word
    st.just(("dial_failed", None)),
    st.just(("timeout", None)),
    st.just(("connected", None)),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    script=st.lists(answers, min_size=1, max_size=40),
    fraction=st.floats(0.0, 1.0, exclude_max=True),
)
def test_no_answers_make_the_core_dial_faster_than_the_backoff(make_harness, script, fraction):
    """Between two ``connected``, at most one immediate redial per offered version (minus
    the first proposal); every other delay is the schedule's next one, in order."""

    def jitter() -> float:
        return fraction

    h = make_harness(random=jitter)
    immediate = 0
    counted = 0
    h.proto.dialing(h.now)
    for kind, version in script:
        if kind == "dial_failed":
            delay = h.proto.dial_failed(h.now, "refused")
        else:
            h.proto.connection_made(h.now)
            if kind == "failed":
                h.feed(msg="failed", version=version)
            elif kind == "timeout":
                h.advance(10.0)
            elif kind == "connected":
                h.feed(msg="connected", session="S")
                immediate = counted = 0
            delay = h.proto.connection_lost(h.now, "lost")
        assert delay is not None
        if delay == 0.0:
            immediate += 1
            assert immediate <= len(VERSIONS) - 1
        else:
            assert delay == SCHEDULE.delay(counted, jitter)
            counted += 1
        h.now += delay
        h.proto.dialing(h.now)
        h.events()
        h.sent()
