"""CLI verbs, one module per area; each exposes register(app, train_app)."""
