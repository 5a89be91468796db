"""The cluster description of `--strategy multihost` and the processes' meeting, in one process."""

import socket
import threading

import pytest

from recipes.training.multihost import (
    Cluster,
    ClusterError,
    describe_cluster,
    first_slurm_host,
    join_cluster,
    rendezvous,
)
from zoo.errors import UsageError

ENV = {
    "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234",
    "KERAS_DISTRIBUTION_NUM_PROCESSES": "4",
    "KERAS_DISTRIBUTION_PROCESS_ID": "2",
}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_keras_environment_variables():
    assert describe_cluster(ENV) == Cluster("10.0.0.1:1234", 4, 2, "environment")
    listed = {**ENV, "KERAS_DISTRIBUTION_JOB_ADDRESSES": "a:1, b:2, c:3, d:4"}
    assert describe_cluster(listed).coordinator == "a:1"


def test_slurm_fills_in_what_is_not_set():
    slurm = {
        "SLURM_JOB_ID": "4097",
        "SLURM_PROCID": "1",
        "SLURM_NTASKS": "2",
        "SLURM_JOB_NODELIST": "gpu[003-004]",
    }
    assert describe_cluster(slurm) == Cluster("gpu003:61441", 2, 1, "slurm")
    explicit = {**slurm, "KERAS_DISTRIBUTION_JOB_ADDRESSES": "head:9999"}
    assert describe_cluster(explicit).coordinator == "head:9999"


@pytest.mark.parametrize(
    ("nodelist", "first"),
    [("node7", "node7"), ("gpu[003-010,012],cpu1", "gpu003"), ("a[5,7]", "a5"), ("x,y", "x")],
)
def test_first_slurm_host(nodelist, first):
    assert first_slurm_host(nodelist) == first


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KERAS_DISTRIBUTION_PROCESS_ID": None}, "KERAS_DISTRIBUTION_PROCESS_ID unset"),
        ({"KERAS_DISTRIBUTION_PROCESS_ID": "4"}, r"must be 0 to 3 .* Received: 4"),
        ({"KERAS_DISTRIBUTION_PROCESS_ID": "-1"}, "must be 0 to 3"),
        ({"KERAS_DISTRIBUTION_NUM_PROCESSES": "two"}, "whole number. Received: 'two'"),
        ({"KERAS_DISTRIBUTION_NUM_PROCESSES": "0"}, "must be 1 to 4096"),
        ({"KERAS_DISTRIBUTION_NUM_PROCESSES": "1000000000"}, "must be 1 to 4096"),
        ({"KERAS_DISTRIBUTION_JOB_ADDRESSES": "a:1,b:2"}, "lists 2 addresses but"),
        ({"KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1"}, "host:port"),
        ({"KERAS_DISTRIBUTION_JOB_ADDRESSES": "h:70000"}, "host:port"),
    ],
)
def test_bad_descriptions_say_what_to_fix(changes, message):
    env = {**ENV, **changes}
    env = {key: value for key, value in env.items() if value is not None}
    with pytest.raises(UsageError, match=message):
        describe_cluster(env)


def test_nothing_set_names_every_way_to_describe_a_cluster():
    with pytest.raises(UsageError, match="srun") as raised:
        describe_cluster({})
    assert "KERAS_DISTRIBUTION_JOB_ADDRESSES" in str(raised.value)


def _meet(clusters, timeout=10):
    """Runs `rendezvous` for each cluster view in a thread; returns the errors by index."""
    errors = {}

    def one(cluster):
        try:
            rendezvous(cluster, timeout)
        except ClusterError as error:
            errors[cluster.index] = str(error)

    threads = [threading.Thread(target=one, args=(cluster,)) for cluster in clusters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 5)
    return errors


def test_three_processes_meet():
    address = f"127.0.0.1:{_free_port()}"
    assert _meet([Cluster(address, 3, index, "environment") for index in (2, 1, 0)]) == {}


def test_a_process_that_counts_differently_stops_both():
    address = f"127.0.0.1:{_free_port()}"
    errors = _meet([Cluster(address, 2, 0, "environment"), Cluster(address, 3, 1, "environment")])
    assert set(errors) == {0, 1}
    assert "process 1 counts 3 processes, process 0 counts 2" in errors[1]


def test_the_coordinator_gives_up_on_a_missing_process():
    address = f"127.0.0.1:{_free_port()}"
    errors = _meet([Cluster(address, 2, 0, "environment")], timeout=1)
    assert "waited 1 s" in errors[0] and "process(es) 1 of 2" in errors[0]


def test_a_process_gives_up_on_an_unreachable_coordinator():
    address = f"127.0.0.1:{_free_port()}"
    errors = _meet([Cluster(address, 2, 1, "environment")], timeout=1)
    assert f"could not reach the coordinator at {address} within 1 s" in errors[1]


def test_connections_that_do_not_speak_the_protocol_are_dropped_and_the_wait_goes_on(monkeypatch):
    import time

    from recipes.training import multihost

    monkeypatch.setattr(multihost, "HELLO_SECONDS", 1.0)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    outcome = {}
    coordinator = threading.Thread(
        target=lambda: outcome.update(_meet([Cluster(address, 2, 0, "environment")]))
    )
    coordinator.start()
    intruders = []
    for payload in (b"", b"x" * 1_000_000, b"GET / HTTP/1.1\r\n\r\n", b"zoo 1"):
        for _ in range(50):  # until process 0 listens
            try:
                intruder = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        try:
            intruder.sendall(payload)  # silence, a flood without a newline, HTTP, a slow half
        except OSError:
            pass  # dropped while it still sent
        intruders.append(intruder)
    started = time.monotonic()
    errors = _meet([Cluster(address, 2, 1, "environment")])
    coordinator.join(15)
    for intruder in intruders:
        intruder.close()
    assert errors == {} and outcome == {} and not coordinator.is_alive()
    assert time.monotonic() - started < 8  # a few seconds of greeting each, not the whole wait


def test_a_busy_port_is_one_line():
    with socket.socket() as busy:
        busy.bind(("", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        errors = _meet([Cluster(address, 2, 0, "environment")], timeout=1)
    assert "cannot listen on port" in errors[0]


def test_multihost_needs_the_jax_backend():
    # This test process runs Keras on TensorFlow.
    with pytest.raises(UsageError, match="KERAS_BACKEND=jax"):
        join_cluster(Cluster("127.0.0.1:1", 1, 0, "environment"), 1)
