#!/bin/sh
# Stand-in application for darn's test image; tests check it survives a patch.
echo "hello from the darn test app"
