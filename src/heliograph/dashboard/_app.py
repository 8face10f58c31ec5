"""The Streamlit script of ``helio dashboard``: ``streamlit run _app.py -- --project ROOT``.

Loads the project, asks for the password when one is configured (or takes ``?token=``),
and runs the page the address names (``/overview``, ``/forecast`` …).
"""

from __future__ import annotations

import argparse
import functools
import sys

import streamlit as st

from heliograph.core import HelioError, Project
from heliograph.dashboard import password_ok
from heliograph.dashboard._pages import PAGES, guarded

__all__: list[str] = []


def _authorised(project: Project) -> bool:
    password = project.settings.dashboard.password
    if not password or st.session_state.get("helio_authorised"):
        return True
    if password_ok(st.query_params.get("token"), password):
        st.session_state["helio_authorised"] = True
        return True
    st.title("heliograph")
    given = st.text_input("password", type="password")
    if given and password_ok(given, password):
        st.session_state["helio_authorised"] = True
        st.rerun()
    if given:
        st.error("That is not the dashboard's password ([dashboard] password).")
    return False


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="heliograph dashboard")
    parser.add_argument("--project", required=True)
    args = parser.parse_args(argv)
    st.set_page_config(page_title="heliograph", page_icon=":material/wb_sunny:", layout="wide")
    try:
        project = Project.load(args.project)
    except HelioError as exc:
        st.error(exc.headline)
        return
    if not _authorised(project):
        return
    pages = [
        st.Page(
            functools.partial(guarded(page, title), project),
            title=title,
            icon=icon,
            url_path=path,
            default=(path == "overview"),
        )
        for path, title, icon, page in PAGES
    ]
    with st.sidebar:
        st.markdown(f"**heliograph** · {project.settings.project.name}")
    st.navigation(pages).run()


if __name__ == "__main__":  # how `streamlit run` executes the script; importing it draws nothing
    main(sys.argv[1:])
