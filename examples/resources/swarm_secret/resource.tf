variable "db_password" {
  type      = string
  sensitive = true
  ephemeral = true # Terraform 1.10+: the value never reaches state or a saved plan
}

# A secret that rotates: name_prefix names each version ("shop-db-password-3f9a1c02b4", random
# digits for a write-only value). A new data_wo_version writes the value as a new secret, the
# services that use it move to it in one rolling update, and the old secret is removed once no
# service uses it. Nothing derived from data_wo is kept, so a new value alone plans nothing.
resource "swarm_secret" "db_password" {
  name_prefix     = "shop-db-password-"
  data_wo         = var.db_password # write-only (Terraform 1.11+): never stored
  data_wo_version = 3               # raise it to write a new value
  labels          = { app = "shop" }
}

resource "swarm_service" "api" {
  name  = "shop-api"
  image = "registry.example.com/shop/api:2.0.1"
  secrets = [
    # Read by the tasks as /run/secrets/db_password, readable by the app's user only.
    { id = swarm_secret.db_password.id, file_name = "db_password", uid = "1000", mode = "0400" },
  ]
  rolling_update = { order = "start-first" } # the service keeps serving while it moves
}

# For Terraform older than 1.11, `data` takes the value instead. It is sensitive (hidden in
# plans and logs) but, like every sensitive value, kept in state.
resource "swarm_secret" "api_token" {
  name_prefix = "shop-api-token-"
  data        = "example-only"
}
