"""Serverless endpoints: their settings and checks (:mod:`.config`) and their fleet (:mod:`.fleet`)."""
