"""Service state: stored assessments (``records``), batch jobs (``jobs``), API keys and the
audit log (``access``). All of it lives in the state database (:mod:`layers.statedb`, the
same database the layer and rules version histories use: embedded SQLite, or PostgreSQL for
several instances). Nothing here is map data, so ``layers/`` and ``zoning/`` never import it."""
