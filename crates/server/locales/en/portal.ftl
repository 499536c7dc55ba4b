site-name = Plenary
lang-name = English
nav-rooms = My rooms
nav-sign-in = Sign in
nav-sign-up = Create an account
nav-sign-out = Sign out
signed-in-as = Signed in as { $name }

sign-in-title = Sign in
sign-up-title = Create an account
field-email = Email
field-password = Password
field-name = Your name
field-room-name = Room name
button-sign-in = Sign in
button-sign-up = Create account
button-create-room = Create room
no-account = No account yet?
have-account = Already have an account?

error-credentials = The email or password is wrong.
error-too-many = Too many attempts. Try again in { $minutes } minutes.
error-csrf = This form has expired. Please try again.
error-email = Please enter a valid email address.
error-password-short = The password needs at least { $min } characters.
error-name = Please enter your name.
error-email-taken = An account with this email may already exist. Try signing in.
error-pending = Your account is waiting for an administrator's approval.
error-disabled = This account is disabled.
error-sign-up-closed = New accounts are by invitation only on this server.
notice-pending = Thanks! An administrator will approve your account soon.

rooms-title = My rooms
rooms-empty = You have no rooms yet.
room-open = Open
room-link = Link
