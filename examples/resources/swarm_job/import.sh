# A job can be imported by its Swarm ID...
terraform import swarm_job.migrate 4f8d2k1q9x7c3n5b6t0rjwpem

# ...or by its name. State records the ID either way.
terraform import swarm_job.migrate shop-migrate
