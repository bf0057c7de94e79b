# Run the migration before every update of the API service (or on demand:
# terraform apply -invoke=action.swarm_job_run.migrate).
action "swarm_job_run" "migrate" {
  config {
    job_id  = swarm_job.migrate.id
    timeout = "15m"
  }
}

resource "swarm_service" "api" {
  name  = "api"
  image = "registry.example.com/shop/api:v42"

  lifecycle {
    action_trigger {
      events  = [before_update]
      actions = [action.swarm_job_run.migrate]
    }
  }
}
