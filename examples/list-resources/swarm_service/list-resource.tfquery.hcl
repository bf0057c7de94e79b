# The services of team "shop" whose name starts with "shop-" (not jobs, not a stack's services).
list "swarm_service" "shop" {
  provider = swarm
  config {
    name_prefix = "shop-"
    labels      = { team = "shop" }
  }
}

# The services of stack "shop", to manage them one by one instead of as a swarm_stack.
list "swarm_service" "shop_stack" {
  provider = swarm
  config {
    stack = "shop"
  }
}
