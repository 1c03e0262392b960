# Master-side locustfile for locust-http workers.
#
# A Locust master needs at least one User class; it never runs it. Its name is what the master
# puts in the per-worker `user_classes_count` of every `spawn`, and locust-http workers run the
# plan they were given for every user, whatever the class is called.
from locust import User, constant, task


class PlanUser(User):
    wait_time = constant(1)

    @task
    def noop(self):
        pass
