"""Registers the back office's routes on the web app (called by assistant/http/app.py)."""

from __future__ import annotations

from aiohttp import web

from assistant.staff import (
    pages,
    views_auth,
    views_closures,
    views_day,
    views_figures,
    views_on_behalf,
)


def add_routes(app: web.Application) -> None:
    pages.setup(app)
    r = app.router
    r.add_get("/staff", views_day.to_home)
    r.add_get("/staff/", views_day.home)
    r.add_get("/staff/static/staff.css", pages.stylesheet)
    r.add_get("/staff/login", views_auth.login_form)
    r.add_post("/staff/login", views_auth.login)
    r.add_post("/staff/logout", views_auth.logout)
    r.add_get("/staff/search", views_day.search_page)
    r.add_get("/staff/figures", views_figures.figures_page)
    r.add_get("/staff/figures.csv", views_figures.figures_csv)
    r.add_get("/staff/offices/{office}/days/{day}", views_day.day_page)
    r.add_get("/staff/offices/{office}/weeks/{day}", views_day.week_page)
    r.add_post("/staff/offices/{office}/appointments/{id}/visit", views_day.visit_step)
    r.add_get("/staff/offices/{office}/book", views_on_behalf.book_form)
    r.add_post("/staff/offices/{office}/book", views_on_behalf.book_save)
    r.add_get("/staff/offices/{office}/appointments/{id}/move", views_on_behalf.move_form)
    r.add_post("/staff/offices/{office}/appointments/{id}/move", views_on_behalf.move_save)
    r.add_get("/staff/offices/{office}/appointments/{id}/cancel", views_on_behalf.cancel_form)
    r.add_post("/staff/offices/{office}/appointments/{id}/cancel", views_on_behalf.cancel_save)
    r.add_get("/staff/offices/{office}/closures", views_closures.closure_form)
    r.add_post("/staff/offices/{office}/closures", views_closures.closure_save)
