"""A Docker-distribution token service for the registry tests: GET /token?service=S&scope=...
with Basic credentials USER:PASS answers {"token": JWT}, the JWT signed (RS256) with KEY and
carrying its certificate (CERT, which the registry trusts) in the x5c header, granting every
action the scopes ask for. Wrong or missing credentials get 401. Prints READY once listening.

    /usr/bin/python3 token_server.py PORT KEY.pem CERT.pem ISSUER USER:PASS
"""
import base64
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

PORT, KEY, CERT, ISSUER, USERPASS = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
with open(KEY, "rb") as f:
    key = f.read()
with open(CERT, "rb") as f:
    der = x509.load_pem_x509_certificate(f.read()).public_bytes(Encoding.DER)
x5c = [base64.b64encode(der).decode()]
expected = "Basic " + base64.b64encode(USERPASS.encode()).decode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/token" or self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.end_headers()
            return
        q = parse_qs(url.query)
        access = []
        for scope in q.get("scope", []):
            kind, name, actions = scope.split(":", 2)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": USERPASS.split(":")[0], "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()),
                  "access": access}
        token = jwt.encode(claims, key, algorithm="RS256", headers={"x5c": x5c})
        body = json.dumps({"token": token}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = HTTPServer(("127.0.0.1", PORT), Handler)
print("READY", flush=True)
server.serve_forever()
