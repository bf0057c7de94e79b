module testapp

go 1.26
