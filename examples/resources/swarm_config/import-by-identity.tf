# Terraform 1.12 and later: import by resource identity. The identity of swarm_config is its
# id (the ID or the name) and name.
# With name_prefix, the identity follows a rotation: it names the config that holds the content now.
import {
  to       = swarm_config.nginx
  identity = { id = "shop-nginx-8d2e41b7c0" }
}
