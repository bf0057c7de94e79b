# Terraform 1.12 and later: import by resource identity. The identity of swarm_secret is its
# id (the ID or the name) and name.
# With name_prefix, the identity follows a rotation: it names the secret that holds the value now.
import {
  to       = swarm_secret.db_password
  identity = { id = "shop-db-password-3f9a1c02b4" }
}
