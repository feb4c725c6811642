"""A tiny HTTP client that behaves like a staff member's browser on the admin.

Why not Django's test client: the outage drill and the several-servers test talk to real
gunicorn processes over sockets, through the same middleware stack (sessions, CSRF) as a
browser. Why not a browser: a form post needs only the form's fields, which the standard
library parses in a few lines. Plain HTTP to 127.0.0.1 only; redirects are never followed, so
the caller sees the admin's 302 that acknowledges a saved form.
"""

import http.client
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie


@dataclass
class Response:
    status: int
    headers: dict
    text: str


class Client:
    """One visitor: keeps its cookies (session, CSRF) between requests."""

    def __init__(self, port: int, timeout: float = 10, host: str | None = None):
        self.port = port
        # A reverse proxy passes the public host on: every server then sees the same one.
        self.host = host or f"127.0.0.1:{port}"
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields: list[tuple[str, str]] | None = None):
        headers = {"Host": self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return Response(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                data.decode("utf-8", "replace"),
            )
        finally:
            connection.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, fields: list[tuple[str, str]]) -> Response:
        return self.request("POST", path, fields)

    def login(self, username: str, password: str) -> int:
        """Log into the admin as a browser does (CSRF token from the login page).

        Returns the status of the last response: 302 when logged in."""
        page = self.get("/admin/login/")
        if page.status != 200:
            return page.status
        fields = form_fields(page.text, "login-form")
        fields = [(k, v) for k, v in fields if k not in {"username", "password"}]
        fields += [("username", username), ("password", password)]
        return self.post("/admin/login/?next=/admin/", fields).status

    def submit(self, path: str, form_id: str, changes: dict[str, str]) -> Response:
        """GET the admin form at `path`, change some fields, POST it back with « Enregistrer ».

        Returns the POST's response (302 when saved), or the GET's when it was not a 200."""
        page = self.get(path)
        if page.status != 200:
            return page
        fields = [(k, changes.get(k, v)) for k, v in form_fields(page.text, form_id)]
        names = {k for k, _ in fields}
        fields += [(k, v) for k, v in changes.items() if k not in names]
        return self.post(path, [*fields, ("_save", "Enregistrer")])


class _FormParser(HTMLParser):
    """The (name, value) pairs a browser would send for the form `form_id`."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self.fields.append((name, attrs.get("value") or default))
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attrs, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": attrs.get("value"), "selected": "selected" in attrs}
            self._option["text"] = ""
            self._select["options"].append(self._option)
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "option":
            self._option = None
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop the newline that follows <textarea>.
            name, value = self._textarea
            self.fields.append((name, value[1:] if value.startswith("\n") else value))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not self._select["multiple"]:
                chosen = options[:1]
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"]
                self.fields.append((self._select["name"], value))
            self._select = None


def form_fields(html: str, form_id: str) -> list[tuple[str, str]]:
    parser = _FormParser(form_id)
    parser.feed(html)
    parser.close()
    return parser.fields
