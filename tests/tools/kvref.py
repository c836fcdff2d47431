"""A reference reading of the hypervisor's key=value lines (MIGSTAT, MIGROUND, migrate
info), written without hvtools so that the tests of hvctl --json compare its output with
an independent parser: integers as numbers, the per-round lists as lists of integers, an
absent fail_state as null."""
import re

KV = re.compile(r"(\w+)=(\S*)")


def typed_kv(text):
    """key=value words as JSON would have them."""
    out = {}
    for k, v in KV.findall(text):
        if k.startswith("round_") and k != "round_ms":
            out[k] = [] if v == "-" else [int(x) for x in v.split(",")]
        elif k == "id":
            out[k] = v
        elif re.fullmatch(r"-?\d+", v):
            out[k] = int(v)
        else:
            out[k] = None if (k == "fail_state" and v == "-") else v
    return out
