"""What the hosted tests of the host tools share: PASS/FAIL lines with a count, the exit
status from it, and the command line of an hvctl under test talking to a fake console."""
import os
import sys

RESULTS = {"pass": 0, "fail": 0}


def check(what, cond, detail=""):
    if cond:
        RESULTS["pass"] += 1
        print("PASS  %s" % what)
    else:
        RESULTS["fail"] += 1
        print("FAIL  %s%s" % (what, (": " + str(detail)[:600]) if detail else ""))
    return cond


def finish():
    """Prints the count; the exit status: 0 only if something passed and nothing failed."""
    print("%d passed, %d failed" % (RESULTS["pass"], RESULTS["fail"]))
    return 0 if RESULTS["fail"] == 0 and RESULTS["pass"] > 0 else 1


def hvctl_argv(tools, port, *extra):
    """tools/hvctl (of the tools/ under test) connected to 127.0.0.1:port."""
    return [sys.executable, os.path.join(tools, "hvctl"), "--connect", "127.0.0.1:%d" % port] + list(extra)
