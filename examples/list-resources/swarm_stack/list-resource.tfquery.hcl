# Every stack deployed with docker stack deploy, once per namespace.
list "swarm_stack" "all" {
  provider = swarm
}
