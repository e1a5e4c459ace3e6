#!/usr/bin/env python3
"""A blocklist feed for the namespace test: serves the files of DIR over HTTP on ADDR:PORT,
and APIBan's pages (/api/KEY/banned/ID from DIR/apiban/ID.json; the last page with status 400,
as APIBan answers it). While DIR/broken exists every answer is 500."""
import http.server
import os
import sys

root, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])


class Feed(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, kind="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if os.path.exists(os.path.join(root, "broken")):
            return self.answer(500, b"<html><body>500 Internal Server Error</body></html>\n", "text/html")
        parts = self.path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "api" and parts[2] == "banned":
            if parts[1] != "test-key":
                return self.answer(401, b'{"ipaddress":["unauthorized"],"ID":"unauthorized"}', "application/json")
            page = os.path.join(root, "apiban", os.path.basename(parts[3]) + ".json")
            if not os.path.exists(page):
                return self.answer(400, b'{"ipaddress":["no new bans"],"ID":"none"}', "application/json")
            with open(page, "rb") as f:
                return self.answer(200, f.read(), "application/json")
        path = os.path.join(root, os.path.basename(self.path))
        if not os.path.isfile(path):
            return self.answer(404, b"not found\n")
        with open(path, "rb") as f:
            self.answer(200, f.read())


http.server.ThreadingHTTPServer.address_family = __import__("socket").AF_INET
http.server.ThreadingHTTPServer((addr, port), Feed).serve_forever()
