"""Code the blueprints share that is not HTTP."""
