site-name = Plenary
lang-name = Deutsch
nav-rooms = Meine Räume
nav-sign-in = Anmelden
nav-sign-up = Konto erstellen
nav-sign-out = Abmelden
signed-in-as = Angemeldet als { $name }

sign-in-title = Anmelden
sign-up-title = Konto erstellen
field-email = E-Mail
field-password = Passwort
field-name = Ihr Name
field-room-name = Name des Raums
button-sign-in = Anmelden
button-sign-up = Konto erstellen
button-create-room = Raum erstellen
no-account = Noch kein Konto?
have-account = Schon ein Konto?

error-credentials = E-Mail oder Passwort ist falsch.
error-too-many = Zu viele Versuche. Bitte in { $minutes } Minuten erneut versuchen.
error-csrf = Dieses Formular ist abgelaufen. Bitte erneut versuchen.
error-email = Bitte eine gültige E-Mail-Adresse eingeben.
error-password-short = Das Passwort braucht mindestens { $min } Zeichen.
error-name = Bitte Ihren Namen eingeben.
error-email-taken = Ein Konto mit dieser E-Mail gibt es vielleicht schon. Bitte anmelden.
error-pending = Ihr Konto wartet auf die Freigabe durch eine Administratorin oder einen Administrator.
error-disabled = Dieses Konto ist gesperrt.
error-sign-up-closed = Auf diesem Server gibt es Konten nur auf Einladung.
notice-pending = Danke! Ihr Konto wird bald freigegeben.

rooms-title = Meine Räume
rooms-empty = Sie haben noch keine Räume.
room-open = Öffnen
room-link = Link
