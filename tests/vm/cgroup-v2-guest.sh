#!/usr/bin/env bash
# cgroup-v2-guest.sh BIN...: runs inside the vmtest VM (see run-cgroup-v2.sh), as root in
# the delegated vmtest-run.service. Runs each test binary in three settings and exits
# non-zero if any run fails.
set -u

export STOCKADE_TEST_REQUIRE=1          # a skipped test is a failure here
export STOCKADE_TEST_CGROUP_VERSION=2   # v2-only tests must run, not pass as "not applicable"
fail=0
summary=()

run() {
    local label=$1; shift
    echo "=== $label: $*"
    if "$@"; then
        summary+=("PASS  $label")
    else
        summary+=("FAIL  $label (exit $?)")
        fail=1
    fi
}

if [[ $(stat -fc %T /sys/fs/cgroup) != cgroup2fs ]]; then
    echo "cgroup-v2-guest: /sys/fs/cgroup is not cgroup2" >&2
    exit 1
fi

# The harness must see failures: systemd-run --wait has to pass a service's exit status on.
if systemd-run --wait --pipe --quiet --collect false; then
    echo "cgroup-v2-guest: systemd-run --wait does not report a failing service" >&2
    exit 1
fi

bins=()
for b in "$@"; do bins+=("$(realpath -e "$b")") || exit 1; done

# The harness's job unit (vmtest-run.service, or tests/vm's stockade-vm-job.service):
# whichever cgroup this script runs in.
job_cg=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
job_cg=${job_cg%/stockade-supervisor}

for b in "${bins[@]}"; do
    name=${b##*/}
    # 1. Root, in the harness's job unit (Type=exec, Delegate=yes): leaves go under the
    #    unit, after the runner and the tests move into the stockade-supervisor sibling leaf.
    run "root in ${job_cg##*/}: $name" \
        env STOCKADE_TEST_EXPECT_CGROUP_UNDER="$job_cg/" \
        "$b" --test-threads=1

    # 2. Root, as the main process of a transient service with Delegate=yes.
    unit=stockade-cgtest-root-$$.service
    run "root in $unit (Delegate=yes): $name" \
        systemd-run --wait --pipe --quiet --collect --unit="$unit" -p Delegate=yes \
        --setenv=STOCKADE_TEST_REQUIRE=1 --setenv=STOCKADE_TEST_CGROUP_VERSION=2 \
        --setenv=STOCKADE_TEST_EXPECT_CGROUP_UNDER=/system.slice/$unit/ \
        "$b" --test-threads=1

    # 3. Unprivileged with delegation: in a user manager's scope when one can run, else
    #    as a delegated system service with User=tester (systemd chowns its cgroup to
    #    tester; a --uid scope of the system manager is NOT chowned, so it has no
    #    delegation). The root-only test is skipped by name.
    loginctl enable-linger tester >/dev/null 2>&1 || true
    if systemctl start user@1000.service >/dev/null 2>&1 &&
        [[ $(systemctl is-active user@1000.service) == active ]]; then
        run "tester in systemd-run --user --scope -p Delegate=yes: $name" \
            runuser -u tester -- env XDG_RUNTIME_DIR=/run/user/1000 \
            systemd-run --user --scope --quiet -p Delegate=yes -- \
            env STOCKADE_TEST_REQUIRE=1 STOCKADE_TEST_CGROUP_VERSION=2 \
            "$b" --test-threads=1 --skip unprivileged_without_delegation
    else
        echo "note: no user manager for tester in this image (pam_systemd missing); using a delegated service with User=tester"
        unit=stockade-cgtest-user-$$.service
        run "tester in $unit (User=tester, Delegate=yes): $name" \
            systemd-run --wait --pipe --quiet --collect --unit="$unit" \
            -p User=tester -p Delegate=yes \
            --setenv=STOCKADE_TEST_REQUIRE=1 --setenv=STOCKADE_TEST_CGROUP_VERSION=2 \
            --setenv=STOCKADE_TEST_EXPECT_CGROUP_UNDER=/system.slice/$unit/ \
            "$b" --test-threads=1 --skip unprivileged_without_delegation
    fi
done

echo "=== cgroup v2 summary"
printf '%s\n' "${summary[@]}"
exit $fail
