"""The dashboard: server-rendered pages over one project's data, served by the same process under
/dashboard (app.py). No build step and no CDN: templates/ and static/ ship in the package."""
