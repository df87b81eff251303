"""The floor: a one-route Flask app that only parses the JSON body (orjson, as ours does) and returns no cards."""
import gc

import orjson
from flask import Flask, Response, request

app = Flask(__name__)


@app.post("/cds-services/<service_id>")
def hook(service_id: str) -> Response:
    orjson.loads(request.get_data())
    return Response(b'{"cards":[]}', mimetype="application/json")


@app.get("/cds-services")
def discovery() -> Response:
    return Response(b'{"services":[]}', mimetype="application/json")


gc.freeze()  # the same GC setting as `backpain-cds serve`, so the ratio compares work, not GC policy
