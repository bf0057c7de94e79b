# A secret can be imported by its ID or by its name. Swarm never gives a secret's value back,
# so the provider cannot tell whether it matches the configuration: the next plan writes the
# configured value as a new secret (a new version with name_prefix; with a fixed name, a
# replacement, which Swarm refuses while a service uses the secret).
terraform import swarm_secret.db_password shop-db-password-3f9a1c02b4
