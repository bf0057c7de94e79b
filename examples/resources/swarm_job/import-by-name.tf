# Adopt a job that was created with `docker service create --mode replicated-job` (Terraform 1.5
# and later). The id may be the job's name or its Swarm ID; the outcome of its last run is read
# from the swarm, and the next plan shows any difference between the job and the
# swarm_job.migrate configuration.
import {
  to = swarm_job.migrate
  id = "shop-migrate"
}
