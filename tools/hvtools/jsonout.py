"""The machine form of console replies: what `hvctl --json CMD` prints.

reply_object(command, ok, lines, final) is the JSON object of one command's reply:

    {"event": "reply", "command": "vm list", "ok": true, "lines": [...], "vms": [...]}

with "error" (the text after `error: `) when not ok, and the fields parsed from the
reply lines where the reply has a machine form (docs/console.md, "Machine-readable
output: hvctl --json", lists them per command). The lines are parsed with one generic
`key=value` parser (hvtools.lines.parse_kv_typed) and a generic `name: value` line
splitter (sections); only the shapes that are neither (`exit R NAME N`, `peer: NAME
A.B.C.D:PORT`, `outgoing: vm N STATE round R pages_left P keys=K`, `help`) have their own few
lines. A parser that meets a line it does not know leaves it in "lines" (always there)
and never fails the object: an exception while parsing is reported as "parse_error".

dumps(obj) is the one-line JSON text hvctl prints.
"""

import json
import re

from .lines import parse_kv, parse_kv_typed, typed, migstat_typed

__all__ = ["reply_object", "parse_reply", "sections", "dumps"]

_NUM_UNIT_RE = re.compile(r"^(\d+) (ms|us|kHz|KiB|MiB|KiB/s)$")
_UNIT = {"ms": "_ms", "us": "_us", "kHz": "_khz", "KiB": "_kib", "MiB": "_mib", "KiB/s": "_kib_s"}
_SECTION_RE = re.compile(r"^([a-z][a-z0-9_-]*): ?(.*)$")


def dumps(obj):
    """One line of JSON (no newline inside: the console's text is escaped)."""
    return json.dumps(obj, ensure_ascii=True, separators=(", ", ": "))


def _key(name):
    return name.replace("-", "_")


def section_value(name, rest):
    """The value of one `name: rest` line: a dict of its key=value words when it
    has any (words before the first one under "words"), `N UNIT` as (name_unit, N),
    else the text. Returns (key, value)."""
    if "=" in rest:
        kv = parse_kv_typed(rest)
        lead = []
        for w in rest.split():
            if "=" in w:
                break
            lead.append(w)
        if lead:
            kv = dict(words=" ".join(lead), **kv)
        return _key(name), kv
    m = _NUM_UNIT_RE.match(rest)
    if m:
        return _key(name) + _UNIT[m.group(2)], int(m.group(1))
    return _key(name), typed(rest)


def sections(lines):
    """{name: value} of the `name: value` lines (section_value); a name seen twice
    becomes a list of its values. Lines of another shape are left out."""
    out, repeated = {}, set()
    for ln in lines:
        m = _SECTION_RE.match(ln)
        if not m:
            continue
        k, v = section_value(m.group(1), m.group(2))
        if k in out:
            if k not in repeated:
                out[k] = [out[k]]
                repeated.add(k)
            out[k].append(v)
        else:
            out[k] = v
    return out


# ---- one function per reply shape ---------------------------------------------------
def _status(lines):
    s = sections(lines)
    out = {}
    for k, v in s.items():
        if k == "vmx":
            v = str(v)
            out["vmx"] = {"available": v == "available"}
            if v.startswith("unavailable"):
                out["vmx"]["reason"] = v.partition(": ")[2]
        elif k == "missing":
            out["missing"] = v if isinstance(v, list) else [v]
        else:
            out[k] = v
    out.setdefault("missing", [])
    return out


def _vm_list(lines):
    vms = []
    for ln in lines:
        m = re.match(r"^vm (\d+) (.*)$", ln)
        if m:
            vms.append(dict(id=int(m.group(1)), **parse_kv_typed(m.group(2))))
    return {"vms": vms}


def _vm_stats(lines):
    out = {"vm": None, "exits": None, "exit_reasons": [], "msr_gp": []}
    for ln in lines:
        w = ln.split()
        if len(w) >= 2 and w[0] == "vm" and w[1].isdigit():
            out["vm"] = int(w[1])
            out.update(parse_kv_typed(ln))
        elif len(w) == 4 and w[0] == "exit" and w[1].isdigit() and w[3].isdigit():
            out["exit_reasons"].append({"reason": int(w[1]), "name": w[2], "count": int(w[3])})
        elif len(w) == 4 and w[0] == "msr" and w[2] == "gp" and w[3].isdigit():
            if w[1] == "other":
                out["msr_gp_other"] = int(w[3])
            else:
                out["msr_gp"].append({"msr": w[1], "count": int(w[3])})
        elif w and w[0] == "vmcs:":
            out["vmcs"] = parse_kv(ln)  # hex strings, as printed
        elif w and w[0] in ("interrupts", "timer"):
            d = parse_kv_typed(ln)
            if w[0] == "timer":
                d["masked"] = "masked" in w
            out[w[0]] = d
    return out


def _net_status(lines):
    s = sections(lines)
    out = {k: v for k, v in s.items() if k != "net"}
    net = s.get("net")
    if isinstance(net, dict):
        out["net"] = dict(up=True, driver=net.pop("words", None), **net)
    elif isinstance(net, str):
        out["net"] = {"up": False, "reason": net}
    return out


def _migrate_status(lines):
    s = sections(lines)
    out = {"settings": s.get("migrate"), "outgoing": None, "incoming": None, "peers": []}
    for ln in lines:
        m = re.match(r"^outgoing: vm (\d+) (\S+) round (\d+) pages_left (\d+)(?: keys=(\w+))?$", ln)
        if m:
            out["outgoing"] = {
                "vm": int(m.group(1)),
                "state": m.group(2),
                "round": int(m.group(3)),
                "pages_left": int(m.group(4)),
            }
            if m.group(5):  # whether the session still holds key material (held|none)
                out["outgoing"]["keys"] = m.group(5)
        m = re.match(r"^incoming: (\S+) vm (\d+)$", ln)
        if m:
            out["incoming"] = {"state": m.group(1), "vm": int(m.group(2))}
        m = re.match(r"^peer: (\S+) (\d+\.\d+\.\d+\.\d+):(\d+)$", ln)
        if m:
            out["peers"].append({"name": m.group(1), "address": m.group(2), "port": int(m.group(3))})
    out["preauth"] = s.get("preauth")
    c = s.get("counters")
    if isinstance(c, dict):
        c = dict(c)
        c.pop("words", None)  # MIGGUARD
    out["counters"] = c
    return out


def _migrate_info(lines):
    out = {"source": None, "destination": None}
    for ln in lines:
        side, _, rest = ln.partition(": ")
        if side in out:
            out[side] = migstat_typed(rest) if rest.startswith("MIGSTAT ") else None
    return out


def _help(lines):
    cmds = []
    for ln in lines:
        if ln.startswith(" ") and cmds:
            cmds[-1]["summary"] = (cmds[-1]["summary"] + " " + ln.strip()).strip()
            continue
        parts = re.split(r"\s{2,}", ln.strip(), maxsplit=1)
        cmds.append({"syntax": parts[0], "summary": parts[1] if len(parts) > 1 else ""})
    return {"commands": cmds}


def _vm_dirty(lines):
    for ln in lines:
        if ln.startswith("dirty "):
            d = parse_kv_typed(ln, strings=("pages",))
            p = d.get("pages", "")
            d["pages"] = [int(x) for x in str(p).split(",") if x]
            return {"dirty": d}
    return {}


def _created(lines):
    for ln in lines:
        m = re.match(r"^created vm (\d+)$", ln)
        if m:
            return {"created_vm": int(m.group(1))}
    return {}


def _moved(lines):
    for ln in lines:
        m = re.match(r"^moved vm (\d+) to vm (\d+)$", ln)
        if m:
            return {"moved": {"from": int(m.group(1)), "to": int(m.group(2))}}
    return {}


def _migrate_set(lines):
    for ln in lines:
        m = re.match(r"^(\w+)=(\S+): (.*)$", ln)
        if m:
            text = m.group(3)
            when = (
                "now"
                if text.endswith("now")
                else "next-migration"
                if "next migration" in text
                else "next-decision"
            )
            return {"live": {"parameter": m.group(1), "value": typed(m.group(2)), "applies": when}}
    return {}


def _migrate_start(lines):
    for ln in lines:
        m = re.search(r"retry in (\d+) ms", ln)
        if m:
            return {"retry_in_ms": int(m.group(1))}
    return {}


def _psk(lines):
    for ln in lines:
        m = re.match(r"^PSK set \((\d+) bytes\)$", ln)
        if m:
            return {"psk_bytes": int(m.group(1))}
    return {}


def _generic(lines):
    return sections(lines)


def parse_reply(words, lines):
    """The parsed fields of a reply ({} when the command has no machine form)."""
    w = list(words) + ["", "", ""]
    if w[0] == "status":
        return _status(lines)
    if w[0] == "help":
        return _help(lines)
    if w[0] == "vm":
        fn = {
            "list": _vm_list,
            "stats": _vm_stats,
            "dirty": _vm_dirty,
            "create": _created,
            "move": _moved,
        }.get(w[1])
        return fn(lines) if fn else {}
    if w[0] == "net":
        if w[1] in ("status", ""):
            return _net_status(lines)
        if w[1] == "hold":
            return _generic(lines)
        return {}
    if w[0] == "migrate":
        if w[1] == "status":
            return _migrate_status(lines)
        if w[1] == "info":
            return _migrate_info(lines)
        if w[1] == "set":
            return _migrate_set(lines)
        if w[1] == "psk":
            return _psk(lines)
        if w[1].isdigit():
            return _migrate_start(lines)
        return {}
    return {}


def reply_object(command, ok, lines, final=None):
    """The JSON object of one command's reply (see the module's doc)."""
    obj = {"event": "reply", "command": command, "ok": bool(ok)}
    if not ok:
        f = final or ""
        obj["error"] = f[len("error: ") :] if f.startswith("error: ") else (f or "no reply")
    obj["lines"] = list(lines)
    try:
        parsed = parse_reply(command.split(), lines)
    except Exception as e:  # noqa: BLE001 - a reply we cannot parse still has its lines
        parsed = {"parse_error": "%s: %s" % (type(e).__name__, e)}
    for k, v in parsed.items():
        if k not in obj:
            obj[k] = v
    return obj
