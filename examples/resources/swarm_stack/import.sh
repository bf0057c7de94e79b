# A stack deployed with `docker stack deploy` is imported by its name (as `docker stack ls` lists it).
# Point compose_files at the same files first: the apply after the import writes no service.
terraform import swarm_stack.shop shop
