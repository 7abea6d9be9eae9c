"""Asynchronous inference: settings (:mod:`.config`), request headers (:mod:`.headers`), the
queue (:mod:`.queue`), results in S3 (:mod:`.delivery`), SNS (:mod:`.notifications`) and the
service that ties them (:mod:`.service`)."""
