"""Points (积分兑换): earned for volunteer hours and, where a unit turns it on, for taking part in
activities; spent on shelf goods or station services. One ledger per keyed identity, a balance
that never goes below zero, and a signed card on the phone the worker checks in with."""
