site-name = Plenary
lang-name = Français
nav-rooms = Mes salles
nav-sign-in = Se connecter
nav-sign-up = Créer un compte
nav-sign-out = Se déconnecter
signed-in-as = Connecté·e en tant que { $name }

sign-in-title = Connexion
sign-up-title = Créer un compte
field-email = Courriel
field-password = Mot de passe
field-name = Votre nom
field-room-name = Nom de la salle
button-sign-in = Se connecter
button-sign-up = Créer le compte
button-create-room = Créer la salle
no-account = Pas encore de compte ?
have-account = Déjà un compte ?

error-credentials = Le courriel ou le mot de passe est incorrect.
error-too-many = Trop de tentatives. Réessayez dans { $minutes } minutes.
error-csrf = Ce formulaire a expiré. Veuillez réessayer.
error-email = Veuillez saisir une adresse courriel valide.
error-password-short = Le mot de passe doit contenir au moins { $min } caractères.
error-name = Veuillez saisir votre nom.
error-email-taken = Un compte avec ce courriel existe peut-être déjà. Essayez de vous connecter.
error-pending = Votre compte attend l’approbation d’un·e administrateur·rice.
error-disabled = Ce compte est désactivé.
error-sign-up-closed = Sur ce serveur, les comptes se créent sur invitation.
notice-pending = Merci ! Un·e administrateur·rice approuvera bientôt votre compte.

rooms-title = Mes salles
rooms-empty = Vous n’avez pas encore de salle.
room-open = Ouvrir
room-link = Lien
