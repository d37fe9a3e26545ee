"""A local replay of the NBS data portal's `easyquery.htm` (http.server in a thread, no network).

Answers in the shape the portal's answers were recorded in (`tests/cassettes/` of the public
client `songjian/cnstats`): `m=getTree` a JSON list of `{dbcode, id, isParent, name, pid,
wdcode}`; `m=QueryData` `{"returncode": 200, "returndata": {"datanodes": [...], "freshsort": 0,
"hasdatacount": n, "wdnodes": [zb, reg, sj]}}`, and for an unknown code the recorded
`{"returncode": 501, "returndata": "对不起，未能找到符合查询条件的信息。"}`.
The content comes from the hand-written fixtures of `tests/data/nbs_portal/` (invented codes
and values), changed per test:
`values` (a revision), `units`, `rename` (codes that changed), `drop` (leaves removed), and
`faults`, one per request in turn: `503`, `stall` (answers after `stall_seconds`), `truncate`
(a body cut off before its Content-Length), `html` (a firewall's page), `cut-json` (a JSON body
cut short but complete per HTTP).
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "data" / "nbs_portal"
NOT_FOUND = {"returncode": 501, "returndata": "对不起，未能找到符合查询条件的信息。"}
FIREWALL_PAGE = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>安全验证</title></head>"
                 "<body><p>您的访问请求可能对网站造成安全威胁，请求已被拦截。</p>"
                 "<p>WZWS-RAY: 1129-1772536641.599</p></body></html>")


@dataclass
class Replay:
    values: dict[tuple[str, str, int], str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)  # fixture code → code served
    drop: set[str] = field(default_factory=set)  # leaf names left out of the tree
    faults: list[str] = field(default_factory=list)
    stall_seconds: float = 1.0
    requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tree = json.loads((FIXTURES / "tree.json").read_text(encoding="utf-8"))
        self.indicators = json.loads((FIXTURES / "indicators.json").read_text(encoding="utf-8"))
        self.regions = json.loads((FIXTURES / "regions.json").read_text(encoding="utf-8"))
        self.data: dict[tuple[str, str, int], str] = {}
        with (FIXTURES / "values.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                for year in (k for k in row if k.isdigit()):
                    self.data[(row["code"], row["reg"], int(year))] = row[year]
        self._lock = threading.Lock()

    def _served(self, code: str) -> str:
        return self.rename.get(code, code)

    def _fixture_code(self, served: str) -> str | None:
        back = {v: k for k, v in self.rename.items()}
        code = back.get(served, served)
        if code in self.rename and self.rename[code] != served:
            return None  # the old code of a renamed indicator is gone
        return code

    def tree_answer(self, node: str) -> list[dict[str, Any]]:
        code = self._fixture_code(node) if node != "zb" else "zb"
        nodes = self.tree.get(code or "", [])
        return [{**n, "id": self._served(n["id"]), "pid": self._served(n["pid"])}
                for n in nodes if n["isParent"] or n["name"] not in self.drop]

    def query_answer(self, served: str, years: str) -> dict[str, Any]:
        code = self._fixture_code(served)
        if code is None or code not in self.indicators:
            return NOT_FOUND
        first, _, last = years.partition("-")
        span = range(int(last or first), int(first) - 1, -1)  # the portal lists newest first
        info = self.indicators[code]
        datanodes, count = [], 0
        for reg in self.regions:
            for year in span:
                text = self.values.get((code, reg, year), self.data.get((code, reg, year), ""))
                count += bool(text)
                datanodes.append({
                    "code": f"zb.{served}_reg.{reg}_sj.{year}",
                    "data": {"data": float(text) if text else 0.0,
                             "dotcount": len(text.partition(".")[2]),
                             "hasdata": bool(text), "strdata": text},
                    "wds": [{"valuecode": served, "wdcode": "zb"},
                            {"valuecode": reg, "wdcode": "reg"},
                            {"valuecode": str(year), "wdcode": "sj"}]})

        def node(code_: str, cname: str, unit: str = "", sortcode: int = 1) -> dict[str, Any]:
            return {"cname": cname, "code": code_, "dotcount": 2, "exp": "", "ifshowcode": False,
                    "memo": "", "name": cname, "nodesort": "1", "sortcode": sortcode, "tag": "",
                    "unit": unit}

        return {"returncode": 200, "returndata": {
            "datanodes": datanodes, "freshsort": 0, "hasdatacount": count,
            "wdnodes": [
                {"nodes": [node(served, info["cname"], self.units.get(code, info["unit"]))],
                 "wdcode": "zb", "wdname": "指标"},
                {"nodes": [node(r, n, "", i) for i, (r, n) in enumerate(self.regions.items(), 1)],
                 "wdcode": "reg", "wdname": "地区"},
                {"nodes": [node(str(y), f"{y}年", "", i) for i, y in enumerate(span, 1)],
                 "wdcode": "sj", "wdname": "时间"}]}}

    def answer(self, params: dict[str, str]) -> Any:
        if params.get("dbcode") != "fsnd":
            return NOT_FOUND
        if params.get("m") == "getTree":
            return self.tree_answer(params.get("id", ""))
        if params.get("m") == "QueryData":
            dfwds = {d["wdcode"]: d["valuecode"] for d in json.loads(params["dfwds"])}
            return self.query_answer(dfwds["zb"], dfwds["sj"])
        return NOT_FOUND

    def next_fault(self) -> str | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None


def _handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str,
                  declared: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(declared if declared is not None
                                                   else len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True

        def _serve(self, params: dict[str, str]) -> None:
            replay.requests.append(params)
            if urlsplit(self.path).path != "/easyquery.htm":
                self._send(404, b"not found", "text/plain")
                return
            fault = replay.next_fault()
            if fault == "stall":
                time.sleep(replay.stall_seconds)
            if fault == "503":
                self._send(503, b"<html><body>Service Unavailable</body></html>", "text/html")
                return
            if fault == "html":
                self._send(200, FIREWALL_PAGE.encode("utf-8"), "text/html;charset=utf-8")
                return
            body = json.dumps(replay.answer(params), ensure_ascii=False).encode("utf-8")
            if fault == "truncate":
                self._send(200, body[: len(body) // 2], "application/json;charset=UTF-8",
                           declared=len(body))
                return
            if fault == "cut-json":
                body = body[: len(body) // 2]
            self._send(200, body, "application/json;charset=UTF-8")

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("ascii"))
            self._serve({k: v[-1] for k, v in form.items()})

        def do_GET(self) -> None:  # noqa: N802
            query = parse_qs(urlsplit(self.path).query)
            self._serve({k: v[-1] for k, v in query.items()})

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout, truncated body): nothing to report


@contextmanager
def replay_server(replay: Replay | None = None) -> Iterator[tuple[str, Replay]]:
    """(base URL, replay) of a server on 127.0.0.1 that lives for the `with` block."""
    replay = replay or Replay()
    server = _Server(("127.0.0.1", 0), _handler(replay))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
