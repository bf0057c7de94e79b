# The current version of a rotating secret that the platform team's configuration manages
# (swarm_secret with name_prefix = "shop-db-password-"). Each plan reads the newest version, so
# this service moves to a rotated password in a rolling update on the next apply.
data "swarm_secret" "db_password" {
  name_prefix = "shop-db-password-"
}

resource "swarm_service" "reports" {
  name    = "shop-reports"
  image   = "registry.example.com/shop/reports:3.1.0"
  secrets = [{ id = data.swarm_secret.db_password.id, file_name = "db_password", mode = "0400" }]
}

# A secret with a fixed name, by name. Only metadata is read: Swarm never gives a value back.
data "swarm_secret" "tls_key" {
  name = "shop-tls-key"
}
