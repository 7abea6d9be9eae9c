"""IAM behaviour moto does not have: evaluating identity policies (``SimulatePrincipalPolicy``)."""
