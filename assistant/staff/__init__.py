"""The back office at `/staff/` (issue 16): accounts, sessions and the office's day.

One job per module: `accounts` (create, verify, disable, reset; argon2), `throttle` (failed
logins per user name and client address), `sessions` (server-side sessions, idle logout, a new
id at every login), `csrf` (the token every form carries), `access` (which offices a user may
see), `audit` (who viewed or changed which appointment, ids only), `visits` (arrived → in
progress → done, or no-show), `timing` (the clerk's handling time, from opening a form to
saving), `pages` (templates, texts, error pages), `views_auth`, `views_day` and
`views_on_behalf` (book, move and cancel for a citizen) (the routes), `routes` (registers
them), `commands` (`amtsbote staff …`).
"""
