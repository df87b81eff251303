"""Locust load: POST the same patient-view request (path in BENCH_BODY) over and over."""

import os

from locust import FastHttpUser, constant, task

with open(os.environ["BENCH_BODY"], "rb") as f:
    BODY = f.read()


class Hook(FastHttpUser):
    wait_time = constant(0)

    @task
    def patient_view(self) -> None:
        self.client.post("/cds-services/backpain-patient-view", data=BODY, headers={"Content-Type": "application/json"})
