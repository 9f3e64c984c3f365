"""``make bench``: what one event costs the action's users, measured (see README.md here)."""
