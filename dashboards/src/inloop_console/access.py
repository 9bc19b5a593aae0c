"""Who is using the console: open on loopback by default, OpenID Connect login when configured.

When ``.streamlit/secrets.toml`` (or the deployment's secrets) has an ``[auth]`` section,
every page requires ``st.login`` and the logged-in identity is what the console records on
bug reports, review decisions and post-mortem edits. Without it the console is meant for
loopback only (the launcher binds 127.0.0.1), and forms ask for the person's name instead.
"""

from __future__ import annotations

import re

import streamlit as st

__all__ = ["auth_configured", "current_identity", "guard", "identity_input", "inline_code", "login_page", "needs_login",
           "plain", "show_identity"]


def auth_configured() -> bool:
    """Whether Streamlit's ``[auth]`` secrets section is present."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises instead of returning empty
        return False


def current_identity() -> str | None:
    """The logged-in person's e-mail (or name), or None when login is not configured."""
    if not auth_configured() or not st.user.get("is_logged_in", False):
        return None
    email = st.user.get("email")
    name = st.user.get("name")
    return str(email or name or "logged-in user")


def needs_login() -> bool:
    """True when login is configured and nobody is logged in yet."""
    return auth_configured() and not st.user.get("is_logged_in", False)


def login_page() -> None:
    """The only page a visitor sees before logging in (the app navigates to nothing else)."""
    st.title("inloop stakeholder console")
    st.info("Please log in: this console is configured to know who records reports, reviews and post-mortems.")
    if st.button("Log in", key="login", type="primary"):
        st.login()


def guard() -> None:
    """First line of every page: a page opened around the entry script still requires login."""
    if needs_login():
        login_page()
        st.stop()


def show_identity() -> None:
    """Who is logged in, and a way out (sidebar); nothing when login is not configured."""
    if not auth_configured():
        return
    with st.sidebar:
        st.caption(f"Signed in as {plain(current_identity() or '')}")
        if st.button("Log out", key="logout"):
            st.logout()


def identity_input(key: str, label: str = "Your name or e-mail") -> str:
    """The identity to record: the logged-in one, or what the person types (loopback mode)."""
    who = current_identity()
    if who is not None:
        st.text_input(label, value=who, disabled=True, key=f"{key}_locked",
                      help="Recorded from your login.")
        return who
    return st.text_input(label, key=key, value=st.session_state.get("console_identity", ""),
                         help="Recorded with what you submit (login is not configured on this console).").strip()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def plain(text: str) -> str:
    """User-supplied text made inert inside Markdown: no links, images, emphasis or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def inline_code(text: str) -> str:
    """``text`` as a Markdown code span, shown exactly as written.

    Not :func:`plain` inside backticks: Markdown does not unescape inside a code span, so an id
    like ``never-lose-an-invoice`` showed as ``never\\-lose\\-an\\-invoice``. A fence one backtick
    longer than any run in the text keeps backticks in it literal too.
    """
    text = text.replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
