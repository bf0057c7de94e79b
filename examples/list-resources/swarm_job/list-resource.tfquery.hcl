# Every job (replicated-job and global-job services) labelled for the shop team.
list "swarm_job" "shop" {
  provider = swarm
  config {
    labels = { team = "shop" }
  }
}
